"""The extension object every demo declares its galleries on (registered in create_app)."""

from flask_gallery import FlaskGallery

galleries = FlaskGallery()

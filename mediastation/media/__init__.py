"""Composing an export: medium layout, ISO 9660 images, spanning over several discs, verification."""

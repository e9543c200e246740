"""Artifact repositories (local folder, S3-compatible) behind one small interface."""

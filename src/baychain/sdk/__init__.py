"""The Python client library that apps, the console and users share."""

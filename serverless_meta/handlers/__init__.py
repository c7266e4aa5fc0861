"""The root of the handlers' Lambda code (Lambda's code root, /var/task).

This file only makes the directory a regular package, ``serverless_meta.handlers``, so that the
construct finds the code through ``importlib.resources`` wherever the package is installed.
Lambda never imports it, and it is left out of the asset.
"""

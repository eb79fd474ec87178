"""The Fish proxy surface (``/v1/fish/*``): Fish request bodies, answers in the proxy's own shape."""

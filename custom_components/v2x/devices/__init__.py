"""Device library: protocols, profiles and the shared model. No Home Assistant imports."""

"""Device configuration: edit, validate, diff and plan the IoT Edge config for our certificates."""

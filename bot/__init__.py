"""archops bot."""

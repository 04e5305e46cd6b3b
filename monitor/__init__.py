"""archops monitor."""

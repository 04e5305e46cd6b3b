"""archops scanner."""

"""archops core."""

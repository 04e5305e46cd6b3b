"""archops agents."""

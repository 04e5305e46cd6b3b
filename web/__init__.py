"""archops web."""

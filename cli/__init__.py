"""archops cli."""

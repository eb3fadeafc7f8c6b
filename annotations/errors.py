class ConflictError(Exception):
    """Someone else changed the object since it was read; nothing was written."""


class PermissionDenied(Exception):
    """The actor may not do this; the message says why, as a sentence."""

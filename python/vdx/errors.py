"""vdx's exceptions. Every one derives from VdxError and, where one fits, from the matching
built-in, so ``except FileNotFoundError`` and ``except vdx.VdxError`` both work. The message is
vdx's own: what failed, on which path, and why."""


class VdxError(Exception):
    """Anything vdx fails with."""


class VdxFileNotFoundError(VdxError, FileNotFoundError):
    """The file or folder does not exist."""


class VdxValueError(VdxError, ValueError):
    """A parameter is invalid (the message names it)."""


class VdxIndexError(VdxError, IndexError):
    """A frame or sample index is out of range."""


class VdxDecodeError(VdxError):
    """A frame could not be decoded (damaged, cut off, or concealed by the decoder)."""


class VdxDatasetError(VdxError):
    """A dataset file is malformed, unfinished or fails its checks."""


class VdxStorageError(VdxError, OSError):
    """Reading from or writing to object storage (s3://, gs://, az://, http(s)://) failed:
    access denied, the object replaced while read, the server unreachable after retries. The
    message names the URL, never a secret."""

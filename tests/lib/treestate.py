"""What a test compares before and after a run: every entry below a folder."""

import hashlib
import os


def tree_state(base):
    """Every file, folder and link below ``base`` → (content hash, link target
    or "dir", uid, gid, mode, mtime)."""
    out = {}
    for root, dirs, files in os.walk(base):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            if os.path.islink(path):
                content = "link:" + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    content = hashlib.sha256(f.read()).hexdigest()
            else:
                content = "dir"
            out[os.path.relpath(path, base)] = (content, st.st_uid, st.st_gid, st.st_mode, st.st_mtime)
    return out

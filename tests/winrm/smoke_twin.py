# -*- coding: utf-8 -*-
"""Python twin of scripts/windows_smoke/fixture.ps1 (create, inspect,
remove a throwaway profile folder), on a Windows-shaped tree whose paths
tests/windows/twin.py maps (base/C/... is C:\\...)."""

import base64
import hashlib
import os
import re
import shutil
import time

import twin

MARKER = "rectorat-tb-smoke.marker"
SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "scripts", "windows_smoke", "fixture.ps1")


def script_bytes():
    with open(SCRIPT, "rb") as f:
        return f.read()


def run(root, request):
    try:
        return dict(answer(twin.Twin(root), request), protocol=1)
    except Exception as exc:  # the script's catch
        return {"protocol": 1, "fatal": "fixture.ps1: %s" % exc}


def answer(machine, request):
    folder = str(request.get("folder") or "")
    # -notmatch: a drive letter and a backslash, or a UNC path.
    if not re.match(r"^([A-Za-z]:\\|\\\\)", folder) or folder.endswith("\\"):
        raise ValueError("not an absolute folder: %s" % folder)
    host = machine.host_path(folder)
    marker = os.path.join(host, MARKER)
    action = str(request.get("action")).lower()
    if action == "create":
        if os.path.lexists(host):
            raise OSError("%s already exists" % folder)
        os.makedirs(host)
        open(marker, "wb").close()
        for entry in request.get("files") or []:
            rel = str(entry["path"])
            if re.search(r"^[\\/]|:|(^|[\\/])\.\.([\\/]|$)", rel):  # -match ignores case; no letters here
                raise ValueError("not a path inside the folder: %s" % rel)
            target = os.path.join(host, *rel.split("\\"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(base64.b64decode(entry["data"]))
            stamp = time.time() - int(entry.get("age") or 0)
            os.utime(target, (stamp, stamp))
        return {"created": folder}
    if action == "inspect":
        read = request.get("read") or []
        files = []
        for dirpath, dummy, names in os.walk(host):
            for name in names:
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, host).replace(os.sep, "\\")
                with open(path, "rb") as f:
                    data = f.read()
                entry = {"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                if any(rel.lower() == r.lower() for r in read):  # -contains ignores case
                    entry["data"] = base64.b64encode(data).decode("ascii")
                files.append(entry)
        return {"files": files}
    if action == "remove":
        if not os.path.isfile(marker):
            raise OSError("%s does not hold %s, not removed" % (folder, MARKER))
        shutil.rmtree(host)
        return {"removed": not os.path.isdir(host)}
    raise ValueError("unknown action")

"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap pip
into the virtual environments of its sanity tests (that download host is not
reachable from the machines this project runs on). It installs pip from the
wheel bundled with the interpreter (ensurepip), then hands the requested
packages to that pip, which fetches them from the package index as usual.
"""
import ensurepip
import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))

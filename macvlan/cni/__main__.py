"""``python -m macvlan.cni``: run the plugin."""

from macvlan.cni import run

run()

"""Standard operations shared by every component: logging, config, tracking, io, registry."""

from components.common import network_guard

network_guard.install_if_requested()

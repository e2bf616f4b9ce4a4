"""ai-platform: load and validate the stack's configuration, then declare the platform."""

from components.config import load_from_pulumi
from components.platform import build

build(load_from_pulumi())

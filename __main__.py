"""ai-platform: load and validate the stack's configuration, then declare the platform."""

from components.platform import build
from config import load_from_pulumi

build(load_from_pulumi())

"""The Open WebUI bundle's logic. The plugins in plugins/ only parse Open WebUI's arguments and call in here."""

from . import process
from .context import Bundle, bundle_for, current_bundle
from .parts import BundleParts, Given
from .valves import BundleValves, settings_from_values, stored_filter_settings

__all__ = ["Bundle", "BundleParts", "BundleValves", "Given", "bundle_for", "current_bundle", "process", "settings_from_values",
           "stored_filter_settings"]

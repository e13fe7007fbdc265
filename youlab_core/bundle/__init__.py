"""The Open WebUI bundle's logic. The plugins in plugins/ only parse Open WebUI's arguments and call in here."""

from .context import Bundle, bundle_for
from .valves import BundleValves, settings_from_values, stored_filter_settings

__all__ = ["Bundle", "BundleValves", "bundle_for", "settings_from_values", "stored_filter_settings"]

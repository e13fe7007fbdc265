"""The installer behind `youlab install` and scripts/run: plugins, valves and model records, idempotently."""

from .installer import InstallOptions, InstallReport, install, load_courses
from .plugins import PLUGIN_IDS, PluginError, PluginFile, default_plugins_dir, load_plugins, parse_front_matter
from .records import PUBLIC_READ, agent_model_form, pick_base_model, tutor_model_form, view_model_form
from .valves import ValveError, ValveSetting, parse_valve_args, valves_from_env

__all__ = [
    "PLUGIN_IDS",
    "PUBLIC_READ",
    "InstallOptions",
    "InstallReport",
    "PluginError",
    "PluginFile",
    "ValveError",
    "ValveSetting",
    "agent_model_form",
    "default_plugins_dir",
    "install",
    "load_courses",
    "load_plugins",
    "parse_front_matter",
    "parse_valve_args",
    "pick_base_model",
    "tutor_model_form",
    "valves_from_env",
    "view_model_form",
]

"""Reads iCalendar data on stdin with libical (the C library behind Evolution and GNOME
Calendar, through Debian's gir1.2-ical-3.0) and prints, as JSON, each VEVENT's UID with its
instants in UTC, converted through the VTIMEZONE components of the same file only, and what
libical's RFC 5546 per-METHOD check reports.

Run with the system Python (python3-gi): it is not a package of the service's environment.
"""

import json
import sys

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib  # noqa: E402  # after require_version, as PyGObject wants

UTC = ICalGLib.Timezone.get_utc_timezone()


def _zones(root: ICalGLib.Component) -> dict[str, ICalGLib.Timezone]:
    zones = {}
    vtz = root.get_first_component(ICalGLib.ComponentKind.VTIMEZONE_COMPONENT)
    while vtz is not None:
        zone = ICalGLib.Timezone.new()
        zone.set_component(vtz.clone())
        zones[zone.get_tzid()] = zone
        vtz = root.get_next_component(ICalGLib.ComponentKind.VTIMEZONE_COMPONENT)
    return zones


def _instant(prop: ICalGLib.Property, zones: dict[str, ICalGLib.Timezone]) -> list:
    """[UTC instant as ISO 8601, TZID or None]; a TZID without a VTIMEZONE in the file
    is an error here, never a lookup in libical's own zone database."""
    value = prop.get_value().get_datetime()
    tzid_param = prop.get_first_parameter(ICalGLib.ParameterKind.TZID_PARAMETER)
    tzid = tzid_param.get_tzid() if tzid_param is not None else None
    if value.is_utc():
        zone = UTC
    elif tzid is not None:
        zone = zones[tzid]
    else:
        raise ValueError(f"floating time in {prop.as_ical_string()!r}")
    local = ICalGLib.Time.new_from_string(value.as_ical_string())
    stamp = local.as_timet_with_zone(zone)
    utc = ICalGLib.Time.new_from_timet_with_zone(stamp, False, UTC)
    return [
        f"{utc.get_year():04d}-{utc.get_month():02d}-{utc.get_day():02d}T"
        f"{utc.get_hour():02d}:{utc.get_minute():02d}:{utc.get_second():02d}Z",
        tzid,
    ]


def read(text: str) -> dict:
    root = ICalGLib.Component.new_from_string(text)
    if root is None:
        raise ValueError("libical could not parse the data")
    zones = _zones(root)
    method = root.get_first_property(ICalGLib.PropertyKind.METHOD_PROPERTY)
    checked = root.clone()
    checked.check_restrictions()
    problems = []
    sub = checked.get_first_component(ICalGLib.ComponentKind.ANY_COMPONENT)
    containers = [checked]
    while sub is not None:
        containers.append(sub)
        sub = checked.get_next_component(ICalGLib.ComponentKind.ANY_COMPONENT)
    for c in containers:
        prop = c.get_first_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
        while prop is not None:
            problems.append(prop.get_xlicerror())
            prop = c.get_next_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
    events = []
    ev = root.get_first_component(ICalGLib.ComponentKind.VEVENT_COMPONENT)
    while ev is not None:
        start = ev.get_first_property(ICalGLib.PropertyKind.DTSTART_PROPERTY)
        end = ev.get_first_property(ICalGLib.PropertyKind.DTEND_PROPERTY)
        (s, s_tzid), (e, e_tzid) = _instant(start, zones), _instant(end, zones)
        events.append(
            {
                "uid": ev.get_uid(),
                "sequence": ev.get_sequence(),
                "dtstart": s,
                "dtend": e,
                "dtstart_tzid": s_tzid,
                "dtend_tzid": e_tzid,
            }
        )
        ev = root.get_next_component(ICalGLib.ComponentKind.VEVENT_COMPONENT)
    return {
        "method": method.get_value_as_string() if method is not None else None,
        "timezones": sorted(zones),
        "events": events,
        "problems": problems,
    }


if __name__ == "__main__":
    data = sys.stdin.buffer.read().decode("utf-8")
    batch = data.lstrip().startswith("[")
    out = [read(t) for t in json.loads(data)] if batch else read(data)
    sys.stdout.write(json.dumps(out) + "\n")

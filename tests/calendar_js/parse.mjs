// Reads iCalendar data on stdin with Mozilla's ical.js (Thunderbird's parser) and prints
// what a client would show, as JSON: {method, timezones, events: [...]}, each event with its
// instants in UTC converted through the VTIMEZONE components of the same file only.
// Several calendars at once: a JSON list of strings on stdin gives a JSON list back.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = Buffer.concat(chunks).toString("utf8");

function param(prop, name) {
  if (!prop) return null;
  const v = prop.getParameter(name);
  return v === undefined || v === null ? null : String(v);
}

function value(component, name) {
  const v = component.getFirstPropertyValue(name);
  return v === undefined || v === null ? null : String(v);
}

function read(text) {
  const root = new ICAL.Component(ICAL.parse(text));
  const zones = root.getAllSubcomponents("vtimezone");
  const tzids = zones.map((z) => z.getFirstPropertyValue("tzid"));
  // A TZID without a VTIMEZONE here stays floating (no fallback to a built-in database).
  for (const vtz of zones) ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
  try {
    const utc = (t) => (t ? t.convertToZone(ICAL.Timezone.utcTimezone).toString() : null);
    const events = root.getAllSubcomponents("vevent").map((ve) => {
      const ev = new ICAL.Event(ve);
      const organizer = ve.getFirstProperty("organizer");
      return {
        uid: ev.uid,
        sequence: ev.sequence,
        summary: ev.summary ?? null,
        location: ev.location ?? null,
        description: ev.description ?? null,
        url: value(ve, "url"),
        status: value(ve, "status"),
        transp: value(ve, "transp"),
        dtstamp: utc(ve.getFirstPropertyValue("dtstamp")),
        dtstart: utc(ev.startDate),
        dtend: utc(ev.endDate),
        dtstart_tzid: ev.startDate?.zone?.tzid ?? null,
        dtend_tzid: ev.endDate?.zone?.tzid ?? null,
        organizer: organizer ? String(organizer.getFirstValue()) : null,
        organizer_cn: param(organizer, "cn"),
        alarms: ve.getAllSubcomponents("valarm").length,
        attendees: ve.getAllProperties("attendee").map((a) => ({
          email: String(a.getFirstValue()),
          cn: param(a, "cn"),
          role: param(a, "role"),
          partstat: param(a, "partstat"),
          rsvp: param(a, "rsvp"),
          cutype: param(a, "cutype"),
        })),
      };
    });
    const todos = root.getAllSubcomponents("vtodo").map((vt) => {
      const due = vt.getFirstPropertyValue("due");
      return {
        uid: value(vt, "uid"),
        sequence: vt.getFirstPropertyValue("sequence"),
        summary: value(vt, "summary"),
        description: value(vt, "description"),
        status: value(vt, "status"),
        url: value(vt, "url"),
        due: due ? due.toString() : null,
        due_is_date: due ? due.isDate : null,
      };
    });
    return { method: value(root, "method"), timezones: tzids, events, todos };
  } finally {
    for (const tzid of tzids) ICAL.TimezoneService.remove(tzid);
  }
}

const batch = input.trimStart().startsWith("[");
const out = batch ? JSON.parse(input).map(read) : read(input);
process.stdout.write(JSON.stringify(out) + "\n");

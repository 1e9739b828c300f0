// Reads iCalendar objects (a JSON list of strings on stdin) with ical.js and prints, for
// each, what a client would show: every VEVENT with its instants in UTC, through the
// VTIMEZONE the file carries.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const inputs = JSON.parse(Buffer.concat(chunks).toString("utf8"));

function param(prop, name) {
  const v = prop.getParameter(name);
  return v === undefined || v === null ? null : String(v);
}

const out = inputs.map((text) => {
  const root = new ICAL.Component(ICAL.parse(text));
  for (const vtz of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
  }
  const events = root.getAllSubcomponents("vevent").map((ve) => {
    const ev = new ICAL.Event(ve);
    const utc = (t) => t.convertToZone(ICAL.Timezone.utcTimezone).toString();
    return {
      uid: ev.uid,
      sequence: ev.sequence,
      summary: ev.summary,
      location: ev.location,
      description: ev.description,
      status: ve.getFirstPropertyValue("status"),
      dtstart: utc(ev.startDate),
      dtend: utc(ev.endDate),
      dtstart_tzid: ev.startDate.zone ? ev.startDate.zone.tzid : null,
      organizer: ve.getFirstPropertyValue("organizer"),
      organizer_cn: param(ve.getFirstProperty("organizer"), "cn"),
      attendees: ve.getAllProperties("attendee").map((a) => ({
        email: a.getFirstValue(),
        cn: param(a, "cn"),
        role: param(a, "role"),
        partstat: param(a, "partstat"),
        rsvp: param(a, "rsvp"),
      })),
    };
  });
  for (const vtz of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.remove(vtz.getFirstPropertyValue("tzid"));
  }
  return {
    method: root.getFirstPropertyValue("method"),
    timezones: root.getAllSubcomponents("vtimezone").map((z) => z.getFirstPropertyValue("tzid")),
    events,
  };
});
process.stdout.write(JSON.stringify(out));

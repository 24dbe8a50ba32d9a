// Webinar rules as data (F-WEBINAR-1, the manual's 5.3): how each role is
// labelled, who may send media, what the host may do to a panelist or an
// attendee, and the order the Q&A lists questions in. The server enforces
// every right; these decide what the page offers (unit-tested).

import type { HostCommand, Participant, Question, Role } from "./proto";

/** The tag shown next to a name, by role (none for an ordinary participant). */
export const ROLE_TAGS: Record<Role, string | null> = {
  host: "Host 主持人",
  panelist: "Panelist 嘉宾",
  attendee: "Attendee 观众",
  participant: null,
};

/** Whether the participant sends media: everyone but attendees, and attendees the host allowed to talk. */
export function maySendMedia(p: Participant): boolean {
  return p.role !== "attendee" || p.talk_allowed;
}

/** Whether the participant may switch on a camera or share a screen (attendees never). */
export function maySendVideo(p: Participant): boolean {
  return p.role !== "attendee";
}

/** Whether the participant answers and dismisses questions: the panel (host and panelists). */
export function answersQuestions(p: Participant | undefined): boolean {
  return p?.role === "host" || p?.role === "panelist";
}

export interface RoleAction {
  /** Test id stem: `host-{action}-{participantId}`. */
  action: string;
  label: string;
  command: HostCommand;
}

/** What a webinar's host may do to `p`'s role: allow or stop talking, make panelist or attendee. */
export function roleActions(p: Participant): RoleAction[] {
  const id = p.id;
  switch (p.role) {
    case "attendee":
      return [
        p.talk_allowed
          ? { action: "stop_talk", label: "Stop talking 取消发言", command: { action: "allow_talk", participant_id: id, allowed: false } }
          : { action: "allow_talk", label: "Allow to talk 允许发言", command: { action: "allow_talk", participant_id: id, allowed: true } },
        { action: "make_panelist", label: "Make panelist 设为嘉宾", command: { action: "set_role", participant_id: id, role: "panelist" } },
      ];
    case "panelist":
      return [{ action: "make_attendee", label: "Make attendee 设为观众", command: { action: "set_role", participant_id: id, role: "attendee" } }];
    default:
      return [];
  }
}

/** Open questions first (oldest first), then answered ones, then dismissed ones. */
export function questionOrder(questions: Question[]): Question[] {
  const rank = (q: Question) => (q.dismissed ? 2 : q.answers.length > 0 ? 1 : 0);
  return [...questions].sort((a, b) => rank(a) - rank(b) || a.asked_at_ms - b.asked_at_ms);
}

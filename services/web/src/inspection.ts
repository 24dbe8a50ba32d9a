// `window.yunhui`: live state of this page for end-to-end tests and for
// debugging from the browser console. Read-only by convention.

import type { Endpoints } from "./discovery";
import type { Participant, VideoSubscription } from "./proto";

export interface Inspection {
  /** This browser's participant id once joined. */
  participantId?: string;
  meetingNumber?: string;
  publisherPc?: RTCPeerConnection;
  subscriberPc?: RTCPeerConnection;
  /** Everyone in the meeting as the server last described them. */
  readonly participants: Participant[];
  /** Why the join is on hold (while `state` is "waiting"). */
  waitingReason?: string;
  /** "join" before joining, "waiting" on hold, then "joined", and at the end
   * "ended", "left", "disconnected", "removed" or "denied". */
  state: string;
  /** The meeting page's layout: gallery or speaker view, the gallery page,
   * and the participant in the main picture. */
  layout?: { mode: string; page: number; pages: number; main: string | null; shown: string[]; roomMode: boolean };
  /** The video this page last asked the SFU for (everyone else: off). */
  videoSubscriptions?: VideoSubscription[];
  /** The most anyone watching this page's video wants (`publish_quality`). */
  publishQuality?: string;
  /** How the invitations this page sent go, by account id
   * (`ringing`, `offline`, `accepted`, `declined`). */
  invites?: Record<string, string>;
  /** Calls out this page placed, by call id. */
  dials?: Record<string, { target: string; state: string; reason?: string; participantId?: string }>;
  /** The account whose calls and chat messages this page's socket receives (the server confirmed it), or null. */
  listeningAs?: string | null;
  /** Group chats: the chat open on the page, its messages shown, and the unread count of each chat in the list. */
  groupChats?: { open: string | null; shown: number; unread: Record<string, number> };
  /** The call ringing this browser, while it rings. */
  incomingCall?: { callId: string; meetingNumber: string; inviter: string } | null;
  /** How many media restarts this page asked the server for (its media path died while signaling lived). */
  mediaRestartsAsked?: () => number;
  /** Which subscriber connection `subscriberPc` is (a new id only when the connection is replaced). */
  subscriberPcId?: string;
  /** The remote tracks this page receives now, by publisher (a track the SFU took away is gone from its stream). */
  receivedTracks?: () => { participantId: string; kind: string; trackId: string; muted: boolean }[];
  /** The audio energy received so far from each remote participant (WebRTC stats' `totalAudioEnergy`). */
  audioEnergy?: () => Promise<Record<string, number>>;
  /** In a meeting with interpretation: what each remote participant's audio is played at now, after its gain: RMS 0..1 of the loudest block of the last two seconds. */
  playedLevels?: () => Record<string, number>;
  /** The gain each remote participant's audio is played at now (interpretation). */
  playbackGains?: () => Record<string, number>;
  /** Interpretation: the language channel this page hears now besides the original (`null`: the original only). */
  languageChannel?: string | null;
  /** The meeting's breakout rooms as the server last described them. */
  breakouts?: unknown;
  /** The endpoints this page uses, from its address's discovery document (`deployment.ts`). */
  deployment?: Endpoints;
}

declare global {
  interface Window {
    yunhui: Inspection;
  }
}

interface Update extends Partial<Omit<Inspection, "participants">> {
  participants?: () => Participant[];
}

let participantsSource: () => Participant[] = () => [];

const inspection: Inspection = {
  state: "join",
  get participants() {
    return participantsSource();
  },
};

export function exposeForInspection(update: Update): void {
  const { participants, ...rest } = update;
  if (participants) participantsSource = participants;
  Object.assign(inspection, rest);
  window.yunhui = inspection;
}

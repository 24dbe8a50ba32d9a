// Stand-in declarations for five wire types that `proto.ts` uses but does not
// declare: `services/proto/src/typescript.rs` (`definitions()`) does not list
// `LanguagePair`, `BreakoutAssignment`, `BreakoutOptions`, `BreakoutRoom` and
// `Breakouts`, so the generated file names them without defining them and
// `tsc` fails. They mirror `services/proto/src/signaling.rs` field for field.
// Delete this file once `proto.ts` is regenerated with them: the web code
// reaches these types only through `proto.ts` (see `breakouts.ts`,
// `interpretation.ts`), never through these global names.

/** An interpreter's languages: they hear `from` and speak into the channel of `to`. */
type LanguagePair = { from: string; to: string };

/** How participants are spread over newly created breakout rooms. */
type BreakoutAssignment = "random" | "manual" | "self_select";

/** The breakout options of the manual's 5.2.1. */
type BreakoutOptions = {
  allow_choose: boolean;
  allow_return: boolean;
  auto_move: boolean;
  close_after_seconds?: number;
  countdown_seconds: number;
};

/** One breakout room. */
type BreakoutRoom = { id: string; name: string; assigned: Array<string> };

/** A meeting's breakout rooms, as everyone in it sees them. */
type Breakouts = {
  rooms: Array<BreakoutRoom>;
  assignment: BreakoutAssignment;
  options: BreakoutOptions;
  open: boolean;
  opened_at_ms?: number;
  closing_at_ms?: number;
};

//! Who enters a meeting, who waits and who is refused: a pure decision of
//! the room's rules at this instant and what is known of the joiner. The
//! room applies it under its lock ([`super::Rooms::join`]); nothing here
//! does I/O, so every case is a unit test below.

/// Why someone is in the waiting room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WaitReason {
    /// The meeting has a waiting room: the host admits them.
    WaitingRoom,
    /// The meeting does not start before its host: they enter when the host does.
    Host,
}

impl WaitReason {
    /// The reason's name on the wire (`ServerMessage::Waiting`).
    pub(super) fn as_str(self) -> &'static str {
        match self {
            WaitReason::WaitingRoom => "waiting_room",
            WaitReason::Host => "waiting_for_host",
        }
    }
}

/// The room's rules at the instant someone joins.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Rules {
    /// The host locked the meeting.
    pub locked: bool,
    /// Joiners wait until the host admits them.
    pub waiting_room: bool,
    /// Participants may enter before the host.
    pub join_before_host: bool,
    /// The host (or a co-host) is in the room.
    pub host_present: bool,
}

/// What is known of the joiner.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Joining {
    /// Their account hosts the meeting.
    pub is_host: bool,
    /// They were called from inside (a spent dial ticket): past the lock and
    /// the waiting room.
    pub called: bool,
    /// Their account or device was removed from this meeting earlier.
    pub removed: bool,
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// They enter at once (as host when `Joining::is_host`).
    Enter,
    /// They wait, for this reason.
    Wait(WaitReason),
    /// Refused: the meeting is locked.
    Locked,
    /// Refused: they were removed from this meeting.
    Removed,
}

/// Decides a join. The host always enters; a called device enters unless it
/// was removed; a lock refuses everyone else before anything else is looked
/// at; then the waiting room, then a meeting that waits for its host.
pub(super) fn decide(rules: Rules, joining: Joining) -> Admission {
    if joining.is_host {
        return Admission::Enter;
    }
    if rules.locked && !joining.called {
        return Admission::Locked;
    }
    if joining.removed {
        return Admission::Removed;
    }
    if joining.called {
        Admission::Enter
    } else if rules.waiting_room {
        Admission::Wait(WaitReason::WaitingRoom)
    } else if !rules.join_before_host && !rules.host_present {
        Admission::Wait(WaitReason::Host)
    } else {
        Admission::Enter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Rules = Rules {
        locked: false,
        waiting_room: false,
        join_before_host: true,
        host_present: false,
    };
    const GUEST: Joining = Joining {
        is_host: false,
        called: false,
        removed: false,
    };

    #[test]
    fn an_open_meeting_lets_a_guest_in() {
        assert_eq!(decide(OPEN, GUEST), Admission::Enter);
    }

    #[test]
    fn the_host_enters_through_a_lock_a_waiting_room_and_an_earlier_removal() {
        let rules = Rules {
            locked: true,
            waiting_room: true,
            join_before_host: false,
            host_present: false,
        };
        let host = Joining {
            is_host: true,
            removed: true,
            ..GUEST
        };
        assert_eq!(decide(rules, host), Admission::Enter);
    }

    #[test]
    fn a_lock_refuses_guests_before_anything_else() {
        let rules = Rules {
            locked: true,
            waiting_room: true,
            ..OPEN
        };
        assert_eq!(decide(rules, GUEST), Admission::Locked);
        let removed = Joining {
            removed: true,
            ..GUEST
        };
        assert_eq!(decide(rules, removed), Admission::Locked);
    }

    #[test]
    fn a_called_device_passes_the_lock_and_the_waiting_room() {
        let rules = Rules {
            locked: true,
            waiting_room: true,
            join_before_host: false,
            host_present: false,
        };
        let called = Joining {
            called: true,
            ..GUEST
        };
        assert_eq!(decide(rules, called), Admission::Enter);
    }

    #[test]
    fn someone_removed_stays_out_even_when_called() {
        let removed = Joining {
            removed: true,
            ..GUEST
        };
        assert_eq!(decide(OPEN, removed), Admission::Removed);
        let called = Joining {
            called: true,
            ..removed
        };
        assert_eq!(decide(OPEN, called), Admission::Removed);
    }

    #[test]
    fn the_waiting_room_comes_before_waiting_for_the_host() {
        let rules = Rules {
            waiting_room: true,
            join_before_host: false,
            ..OPEN
        };
        assert_eq!(
            decide(rules, GUEST),
            Admission::Wait(WaitReason::WaitingRoom)
        );
    }

    #[test]
    fn without_join_before_host_guests_wait_until_the_host_is_in() {
        let rules = Rules {
            join_before_host: false,
            ..OPEN
        };
        assert_eq!(decide(rules, GUEST), Admission::Wait(WaitReason::Host));
        let hosted = Rules {
            host_present: true,
            ..rules
        };
        assert_eq!(decide(hosted, GUEST), Admission::Enter);
    }
}

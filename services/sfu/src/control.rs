//! [`InProcessControl`]: the media-control interface
//! ([`yunhui_proto::media::MediaControl`]) by direct calls into a running
//! [`Sfu`], for the all-in-one `yunhui up` and tests. The HTTP form is served
//! by [`crate::internal_api`].

pub use yunhui_proto::media::{
    ControlError, MediaControl, MediaKind, NodeStats, Routing, VideoQuality, VideoSubscriptions,
};

use crate::Sfu;

/// [`MediaControl`] by direct calls into a running [`Sfu`] (the all-in-one `yunhui up`).
#[derive(Clone)]
pub struct InProcessControl {
    sfu: Sfu,
}

impl InProcessControl {
    /// Controls `sfu` from the same process.
    pub fn new(sfu: Sfu) -> Self {
        Self { sfu }
    }
}

#[async_trait::async_trait]
impl MediaControl for InProcessControl {
    async fn create_room(&self, room: &str) -> Result<(), ControlError> {
        self.sfu.create_room(room)
    }

    async fn close_room(&self, room: &str) -> Result<(), ControlError> {
        self.sfu.close_room(room).await;
        Ok(())
    }

    async fn add_participant(&self, room: &str, participant: &str) -> Result<(), ControlError> {
        self.sfu.room(room)?.add_participant(participant);
        Ok(())
    }

    async fn remove_participant(&self, room: &str, participant: &str) -> Result<(), ControlError> {
        self.sfu.room(room)?.remove_participant(participant).await
    }

    async fn publish(
        &self,
        room: &str,
        participant: &str,
        offer_sdp: &str,
    ) -> Result<String, ControlError> {
        self.sfu.publish(room, participant, offer_sdp).await
    }

    async fn subscribe_offer(
        &self,
        room: &str,
        participant: &str,
    ) -> Result<Option<String>, ControlError> {
        self.sfu.subscribe_offer(room, participant).await
    }

    async fn subscribe_answer(
        &self,
        room: &str,
        participant: &str,
        answer_sdp: &str,
    ) -> Result<Option<String>, ControlError> {
        self.sfu
            .subscribe_answer(room, participant, answer_sdp)
            .await
    }

    async fn set_forwarding(
        &self,
        room: &str,
        participant: &str,
        kind: MediaKind,
        enabled: bool,
    ) -> Result<(), ControlError> {
        self.sfu
            .room(room)?
            .participant(participant)?
            .set_forwarding(kind, enabled);
        Ok(())
    }

    async fn set_video_subscriptions(
        &self,
        room: &str,
        participant: &str,
        subscriptions: VideoSubscriptions,
    ) -> Result<(), ControlError> {
        self.sfu
            .room(room)?
            .participant(participant)?
            .set_video_subscriptions(subscriptions);
        Ok(())
    }

    async fn set_routing(
        &self,
        room: &str,
        participant: &str,
        routing: Routing,
    ) -> Result<(), ControlError> {
        *self
            .sfu
            .room(room)?
            .participant(participant)?
            .routing
            .lock() = routing;
        Ok(())
    }

    async fn active_speaker(&self, room: &str) -> Result<Option<String>, ControlError> {
        Ok(self.sfu.room(room)?.active_speaker())
    }

    async fn node_stats(&self) -> Result<NodeStats, ControlError> {
        Ok(self.sfu.node_stats())
    }
}

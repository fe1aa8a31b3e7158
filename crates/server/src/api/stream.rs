//! Server-Sent Events: new incidents, blocks and a sample of live events.

use crate::auth::Principal;
use crate::state::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

pub async fn stream(
    State(st): State<Arc<AppState>>,
    _p: Principal,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = st.live.subscribe();
    let events = BroadcastStream::new(rx).filter_map(|msg| match msg {
        Ok(m) => {
            let data = serde_json::to_string(&m).ok()?;
            Some(Ok(Event::default().event(m.event_name()).data(data)))
        }
        // A slow client missed messages: tell it, so it can reload what it shows.
        Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
            Some(Ok(Event::default().event("lagged").data(n.to_string())))
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

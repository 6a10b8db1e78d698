//! Containment: what holds every process of one supervised child's tree, so that the tree
//! can be signalled, counted and swept as one, and dies with the host however the host ends.
//!
//! One implementation per mechanism (`unix/group.rs`: a process group, for runners and
//! builds; `unix/session.rs`: a terminal's whole session; `windows/job.rs`: a Job Object for
//! every kind of child). The run loop ([`super::run`]) and the kinds of child speak only to
//! this trait.

use std::io;
use std::time::Duration;

use super::stop::StopStep;

/// What a [`Containment`] holds, as lifecycle `signal` events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A process group (agent runners, the build step).
    Group,
    /// A terminal's session: every process whose session id is the terminal program's.
    Session,
    /// A Windows Job Object: every process the child ever started (runners, builds and
    /// terminals alike).
    Job,
}

impl Target {
    /// Every target, on any platform.
    pub const ALL: [Target; 3] = [Target::Group, Target::Session, Target::Job];

    /// The `target` field of a lifecycle `signal` event.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Group => "group",
            Target::Session => "session",
            Target::Job => "job",
        }
    }
}

/// Every process of one supervised tree.
///
/// Created right after the spawn, when the leader exists and is not reaped (so its pid is
/// reserved); from then on the host's death ends the tree too (the platform's host-death
/// guarantee). Call [`Containment::release`] once the leader is reaped.
pub trait Containment: Send + Sync + std::fmt::Debug {
    /// What this is, for events.
    fn target(&self) -> Target;
    /// Applies `step` to every member. `Ok(true)` when it reached at least one.
    fn stop(&self, step: StopStep) -> io::Result<bool>;
    /// Whether any member is left.
    fn alive(&self) -> bool;
    /// After the leftover step (`stop` answered `reached`) and the leader's reaping: whether
    /// that step reached members other than the leader, i.e. whether a `left over` event is
    /// due. By default: some member is still there (on Unix the step also reached the
    /// unreaped leader, and a signalled leftover is still exiting when this is asked).
    fn reached_others(&self, reached: bool) -> bool {
        reached && self.alive()
    }
    /// After the leader is reaped: with `leftovers` (the last step reached members), ends
    /// what is left after `grace` (in a task of the current runtime); then stops guarding
    /// the tree against the host's death.
    fn release(&self, leftovers: bool, grace: Duration);
}

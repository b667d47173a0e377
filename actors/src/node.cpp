#include "grove/actors/node.hpp"

#include <caf/actor_system_config.hpp>

namespace grove::actors {

void configure_node(caf::actor_system_config& cfg) {
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{connection_timeout});
  // A node that learns of another through a third connects to it directly, so that the loss of
  // the third does not cut them off, and the death of either is seen at once by the other.
  cfg.set("middleman.enable-automatic-connections", true);
  // CAF's work-stealing workers poll before they sleep: after each job, 100 attempts without a
  // pause, then 500 with a 50 us sleep each, and then, asleep, they wake every 10 ms to steal.
  // That costs about 1% of a core per idle node, and under sporadic load (1,000 commands/s) most of
  // a node's CPU goes to those sleeps. New work for a sleeping worker wakes it at once, so fewer
  // polls and a longer sleep cost only the time until an idle worker steals from a busy one. Here:
  // 10 polls without a pause, none with one (each of those pauses is a nanosleep and a thread
  // switch; with 10 of them a grove-node taking 1,000 commands/s spent 16.5 % of a core, with none
  // 13 %), then asleep until woken, stealing once a second.
  cfg.set("work-stealing.aggressive-poll-attempts", scheduler_poll_attempts);
  cfg.set("work-stealing.moderate-poll-attempts", scheduler_paused_poll_attempts);
  cfg.set("work-stealing.relaxed-sleep-duration", caf::timespan{relaxed_scheduler_sleep});
}

}  // namespace grove::actors

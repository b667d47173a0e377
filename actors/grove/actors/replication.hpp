// Replication for CAF, all of it: replication servers (replica.hpp) and their one-way writers
// (mutation_writer.hpp), membership (membership.hpp) and node connections (network.hpp). Include
// the one you need, or this for all of them; the one call that starts a whole node is node.hpp.
#pragma once

#include "grove/actors/membership.hpp"
#include "grove/actors/mutation_writer.hpp"
#include "grove/actors/network.hpp"
#include "grove/actors/replica.hpp"

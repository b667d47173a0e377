// Replication for CAF, all of it: replication servers (replica.hpp), membership (membership.hpp)
// and node connections (network.hpp). Include the one you need, or this for all three; the one
// call that starts a whole node is node.hpp.
#pragma once

#include "grove/actors/membership.hpp"
#include "grove/actors/network.hpp"
#include "grove/actors/replica.hpp"

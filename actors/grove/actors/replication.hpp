// Replication for CAF, all of it: replication servers (replica.hpp), membership (membership.hpp)
// and node connections (node.hpp). Include the one you need, or this for all three.
#pragma once

#include "grove/actors/membership.hpp"
#include "grove/actors/node.hpp"
#include "grove/actors/replica.hpp"

// faiss 1.7.3 (Debian) lacks the namespace-level alias that faiss-node 0.5.1 expects.
#pragma once
#include <cstdint>
namespace faiss { using idx_t = int64_t; }

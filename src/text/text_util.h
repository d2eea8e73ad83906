#pragma once
// Small helpers shared by the tokenizers (internal to src/text).
#include <string>
#include <vector>

#include "text/encoding.h"

namespace seer::text {

// The whole file; seer::DataError naming `what` when it cannot be read.
std::string read_file(const std::string& path, const std::string& what);

// 'first 40 characters...' of a text, quoted, for error messages.
std::string preview(const std::string& text);

// Shortens a and b (b unused when num_seqs == 1) so that together with `specials`
// special tokens they fit options.max_length, following options.truncation.
// Returns the number of dropped tokens; throws seer::DataError when truncation is
// off or cannot make the sequence fit.
int64_t fit_to_length(std::vector<Piece>& a, std::vector<Piece>& b, int num_seqs, int64_t specials,
                      const EncodeOptions& options, const std::string& what);

}  // namespace seer::text

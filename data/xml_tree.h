#pragma once
// A small XML reader for annotation files in the Pascal VOC style (Flickr30k
// Entities' Annotations/*.xml): nested elements with text, nothing more. It
// keeps element names, their character data and the line of each start tag,
// so a reader can say "<file>:<line>: <problem>". Attributes are read past and
// dropped; comments, the <?xml ...?> declaration, a DOCTYPE and CDATA sections
// are understood; the five predefined entities and numeric character
// references are decoded. No namespaces, no DTD processing.
#include <cstdint>
#include <string>
#include <vector>

namespace seer {

struct XmlElement {
  std::string name;
  std::string text;  // character data directly inside this element (children's text excluded), decoded
  int64_t line = 0;  // 1-based line of the start tag
  std::vector<XmlElement> children;

  // The first child called `name`, or null.
  const XmlElement* child(const std::string& name) const;
  // Every child called `name`, in document order.
  std::vector<const XmlElement*> children_named(const std::string& name) const;
};

struct XmlError {
  int64_t line = 0;     // 1-based line where the problem was found (0 = none)
  std::string problem;  // "" when the document parsed
};

// Parse a whole document into `root` (its single top-level element).
XmlError parse_xml(const std::string& text, XmlElement& root);

}  // namespace seer

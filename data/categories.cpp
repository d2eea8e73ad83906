#include "data/categories.h"

#include <cctype>
#include <fstream>
#include <set>

#include "core/config.h"
#include "core/error.h"

namespace seer {

CategoryTable coco_categories() {
  static const std::pair<int64_t, const char*> coco[] = {
      {1, "person"},         {2, "bicycle"},       {3, "car"},           {4, "motorcycle"},    {5, "airplane"},
      {6, "bus"},            {7, "train"},         {8, "truck"},         {9, "boat"},          {10, "traffic light"},
      {11, "fire hydrant"},  {13, "stop sign"},    {14, "parking meter"}, {15, "bench"},       {16, "bird"},
      {17, "cat"},           {18, "dog"},          {19, "horse"},        {20, "sheep"},        {21, "cow"},
      {22, "elephant"},      {23, "bear"},         {24, "zebra"},        {25, "giraffe"},      {27, "backpack"},
      {28, "umbrella"},      {31, "handbag"},      {32, "tie"},          {33, "suitcase"},     {34, "frisbee"},
      {35, "skis"},          {36, "snowboard"},    {37, "sports ball"},  {38, "kite"},         {39, "baseball bat"},
      {40, "baseball glove"}, {41, "skateboard"},  {42, "surfboard"},    {43, "tennis racket"}, {44, "bottle"},
      {46, "wine glass"},    {47, "cup"},          {48, "fork"},         {49, "knife"},        {50, "spoon"},
      {51, "bowl"},          {52, "banana"},       {53, "apple"},        {54, "sandwich"},     {55, "orange"},
      {56, "broccoli"},      {57, "carrot"},       {58, "hot dog"},      {59, "pizza"},        {60, "donut"},
      {61, "cake"},          {62, "chair"},        {63, "couch"},        {64, "potted plant"}, {65, "bed"},
      {67, "dining table"},  {70, "toilet"},       {72, "tv"},           {73, "laptop"},       {74, "mouse"},
      {75, "remote"},        {76, "keyboard"},     {77, "cell phone"},   {78, "microwave"},    {79, "oven"},
      {80, "toaster"},       {81, "sink"},         {82, "refrigerator"}, {84, "book"},         {85, "clock"},
      {86, "vase"},          {87, "scissors"},     {88, "teddy bear"},   {89, "hair drier"},   {90, "toothbrush"},
  };
  CategoryTable t;
  for (const auto& [id, name] : coco) t.add(id, name);
  return t;
}

CategoryTable read_category_names(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw DataError("category names file '" + path + "': cannot open");
  CategoryTable t;
  std::set<int64_t> seen;
  std::string line;
  int64_t line_no = 0, index = 0;
  while (std::getline(f, line)) {
    ++line_no;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    line = line.substr(start);
    int64_t id = index;
    std::string name = line;
    size_t digits = 0;
    while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
    if (digits > 0 && digits < 10 && digits < line.size() && (line[digits] == ' ' || line[digits] == '\t')) {
      id = std::stoll(line.substr(0, digits));
      name = line.substr(line.find_first_not_of(" \t", digits));
    }
    if (!seen.insert(id).second)
      throw DataError(path + ":" + std::to_string(line_no) + ": category id " + std::to_string(id) + " appears twice");
    t.add(id, name);
    ++index;
  }
  return t;
}

CategoryTable named_categories(const std::string& spec, const std::string& data_root) {
  if (spec.empty()) return {};
  if (spec == "coco") return coco_categories();
  return read_category_names(resolve_data_path(data_root, spec));
}

}  // namespace seer

// The Flickr30k Entities reader: the sentence markup and annotation XML parsed
// from strings written here, the shared sample's real Sentences and images
// (read in place) with Annotations files this test writes (boxes chosen inside
// the real image sizes; the sample has no Annotations), and broken input.
#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "data/flickr30k.h"
#include "data/xml_tree.h"
#include "reader_test_util.h"
#include "test_util.h"

namespace seer {
namespace seer_test_test_flickr30k {
namespace {

using test::build_dataset;
using test::data_error_of;
using test::write_text;
namespace fs = std::filesystem;

const char* kSample = "grounding/flickr30k_entities_sample";

std::string span_text(const std::string& caption, const Span& s) { return caption.substr(s.begin, s.end - s.begin); }
std::string span_text(const Target& t, int64_t box, size_t k = 0) { return span_text(t.caption, t.tokens_positive.at(box).at(k)); }

// A VOC-style object: one box under `names`, or (empty box) the nobndbox/scene flags.
std::string object(const std::vector<int64_t>& names, const std::vector<std::string>& box, bool scene = false) {
  std::string o = "  <object>\n";
  for (int64_t n : names) o += "    <name>" + std::to_string(n) + "</name>\n";
  if (box.empty()) {
    o += "    <nobndbox>1</nobndbox>\n    <scene>" + std::string(scene ? "1" : "0") + "</scene>\n";
  } else {
    o += "    <bndbox>\n      <xmin>" + box[0] + "</xmin>\n      <ymin>" + box[1] + "</ymin>\n      <xmax>" + box[2] +
         "</xmax>\n      <ymax>" + box[3] + "</ymax>\n    </bndbox>\n";
  }
  return o + "  </object>\n";
}

std::string annotation(const std::string& id, int64_t w, int64_t h, const std::string& objects) {
  return "<annotation>\n  <filename>" + id + ".jpg</filename>\n  <size>\n    <width>" + std::to_string(w) +
         "</width>\n    <height>" + std::to_string(h) + "</height>\n    <depth>3</depth>\n  </size>\n" + objects +
         "</annotation>\n";
}

// The shared sample's Sentences and images (symlinked, not copied) next to
// Annotations written here; returns the folder to use as data.root.
std::string sample_root(const std::string& name) {
  std::string dir = test::temp_dir(name);
  fs::create_symlink(test::data_dir() + "/" + kSample + "/Sentences", dir + "/Sentences");
  fs::create_symlink(test::data_dir() + "/" + kSample + "/images", dir + "/images");
  fs::create_directories(dir + "/Annotations");
  // 4945942737.jpg is 333 x 500 (w x h)
  write_text(dir + "/Annotations/4945942737.xml",
             annotation("4945942737", 333, 500,
                        object({221796}, {"50", "60", "200", "480"}) +     // people: "A girl"
                            object({221804}, {"80", "60", "150", "140"}) +  // bodyparts: "brown hair"
                            object({221797}, {"60", "150", "210", "470"}) + // clothing: "black"
                            object({221799}, {"1", "300", "333", "500"}) +  // ends on the image's right and bottom edges
                            object({221798}, {}, true) +                    // scene, no box
                            object({999999}, {"5", "5", "9", "9"})));       // never in a sentence: ignored
  // 6338542128.jpg is 500 x 421
  write_text(dir + "/Annotations/6338542128.xml",
             annotation("6338542128", 500, 421,
                        object({253069}, {"10", "20", "100", "200"}) +      // two boxes of one player
                            object({253069}, {"150", "30", "260", "300"}) +
                            object({253070}, {"300", "40", "480", "400"}) +
                            object({253072, 253077}, {"200", "100", "220", "120"}) +  // the ball, under two entities
                            object({253074}, {"400", "300", "600", "500"}) +  // leaves the image: clamped
                            object({253068}, {"1", "1", "1", "1"}) +          // one pixel
                            object({253080}, {}, true)));
  return dir;
}

// ------------------------------------------------------------ sentence markup

TEST(Flickr30kSentence, MarkupBecomesCaptionAndSpans) {
  Flickr30kSentence s;
  ASSERT_EQ(parse_flickr30k_sentence("[/EN#221796/people A girl] with [/EN#221804/bodyparts brown hair] sits on "
                                     "[/EN#221799/scene the edge of a cement area] [/EN#221798/scene overlooking water] .",
                                     s),
            "");
  EXPECT_EQ(s.caption, "A girl with brown hair sits on the edge of a cement area overlooking water .");
  ASSERT_EQ(s.phrases.size(), 4u);
  EXPECT_EQ(span_text(s.caption, s.phrases[0].span), "A girl");
  EXPECT_EQ(s.phrases[0].span.begin, 0);
  EXPECT_EQ(span_text(s.caption, s.phrases[1].span), "brown hair");
  EXPECT_EQ(span_text(s.caption, s.phrases[2].span), "the edge of a cement area");
  EXPECT_EQ(span_text(s.caption, s.phrases[3].span), "overlooking water");
  EXPECT_EQ(s.phrases[1].entity_id, 221804);
  EXPECT_EQ(s.phrases[1].types, std::vector<std::string>{"bodyparts"});
  EXPECT_TRUE(s.phrases[0].visual());

  // several types, not-visual phrases, one-word phrases, '#' and '&' in words,
  // runs of spaces and a lone closing ']'
  ASSERT_EQ(parse_flickr30k_sentence("  [/EN#7/clothing/other A  hat]\tfor [/EN#0/notvisual him] and "
                                     "[/EN#9/notvisual them ] , [/EN#3/other # 8] of [/EN#4/people A&M]  ",
                                     s),
            "");
  EXPECT_EQ(s.caption, "A hat for him and them , # 8 of A&M");
  ASSERT_EQ(s.phrases.size(), 5u);
  EXPECT_EQ(s.phrases[0].types, (std::vector<std::string>{"clothing", "other"}));
  EXPECT_EQ(span_text(s.caption, s.phrases[0].span), "A hat");
  EXPECT_EQ(span_text(s.caption, s.phrases[1].span), "him");
  EXPECT_FALSE(s.phrases[1].visual());  // entity 0
  EXPECT_EQ(span_text(s.caption, s.phrases[2].span), "them");
  EXPECT_FALSE(s.phrases[2].visual());  // type notvisual
  EXPECT_EQ(span_text(s.caption, s.phrases[3].span), "# 8");
  EXPECT_EQ(span_text(s.caption, s.phrases[4].span), "A&M");
  EXPECT_TRUE(s.phrases[4].visual());

  // no phrases at all is a caption without targets
  ASSERT_EQ(parse_flickr30k_sentence("Two dogs play .", s), "");
  EXPECT_EQ(s.caption, "Two dogs play .");
  EXPECT_TRUE(s.phrases.empty());
}

TEST(Flickr30kSentence, MalformedMarkupSaysWhat) {
  auto problem = [](const std::string& line) {
    Flickr30kSentence s;
    return parse_flickr30k_sentence(line, s);
  };
  EXPECT_CONTAINS(problem("[/EN#1/people a man sits ."), "phrase '[/EN#1/people' is not closed");
  EXPECT_CONTAINS(problem("[/EN#1/people a [/EN#2/other hat] ."), "is not closed before '[/EN#2/other'");
  EXPECT_CONTAINS(problem("[/EN#1/people] sits"), "the phrase has no words");
  EXPECT_CONTAINS(problem("[/EN#1/people ] sits"), "has no words");
  EXPECT_CONTAINS(problem("[/EN#x1/people a man]"), "entity id 'x1' is not a number");
  EXPECT_CONTAINS(problem("[/EN#1 a man]"), "no entity type");
  EXPECT_CONTAINS(problem("[/EN#1/persons a man]"), "unknown entity type 'persons'");
  EXPECT_CONTAINS(problem("[/EN#1//people a man]"), "empty entity type");
  EXPECT_CONTAINS(problem("[a man] sits"), "malformed phrase marker '[a'");
  EXPECT_CONTAINS(problem("a man] sits"), "']' outside a phrase in 'man]'");
  EXPECT_CONTAINS(problem("[/EN#1/people a man]] sits"), "stray ']'");
  EXPECT_CONTAINS(problem("   "), "empty sentence");
}

// ------------------------------------------------------------ annotation XML

TEST(Flickr30kAnnotation, BoxesPerEntityAsPixelEdges) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- written by the test -->\n" +
                    annotation("1", 40, 30,
                               object({5}, {"1", "2", "10", "20"}) + object({5}, {"3", "3", "3", "3"}) +
                               object({6, 7}, {" 4 ", "5", "6", "7"}) + object({8}, {}, true) + object({9}, {}));
  Flickr30kAnnotation ann;
  int64_t line = -1;
  ASSERT_EQ(parse_flickr30k_annotation(xml, ann, line), "");
  EXPECT_EQ(ann.width, 40);
  EXPECT_EQ(ann.height, 30);
  ASSERT_EQ(ann.boxes.size(), 3u);  // 8 and 9 have no box
  // 1-based inclusive VOC indices -> edges [xmin-1, ymin-1, xmax, ymax]
  ASSERT_EQ(ann.boxes[5].size(), 2u);
  EXPECT_EQ(ann.boxes[5][0], (std::array<float, 4>{0, 1, 10, 20}));
  EXPECT_EQ(ann.boxes[5][1], (std::array<float, 4>{2, 2, 3, 3}));  // one pixel
  EXPECT_EQ(ann.boxes[6], ann.boxes[7]);                           // one object, two names
  EXPECT_EQ(ann.boxes[6][0], (std::array<float, 4>{3, 4, 6, 7}));
}

TEST(Flickr30kAnnotation, BrokenFilesNameTheLine) {
  auto problem = [](const std::string& xml, int64_t& line) {
    Flickr30kAnnotation ann;
    return parse_flickr30k_annotation(xml, ann, line);
  };
  int64_t line = 0;
  // object #1's xmin is on line 20 of the file `annotation()` writes
  std::string xml = annotation("1", 40, 30, object({5}, {"1", "2", "10", "20"}) + object({6}, {"12.5", "2", "20", "20"}));
  EXPECT_EQ(problem(xml, line), "object #1: <xmin> '12.5' is not an integer");
  EXPECT_EQ(line, 20);
  EXPECT_EQ(problem(annotation("1", 40, 30, object({5}, {"9", "2", "3", "20"})), line), "object #0: xmax 3 < xmin 9");
  EXPECT_EQ(line, 10);  // the <bndbox>
  EXPECT_EQ(problem(annotation("1", 40, 30, object({5}, {"1", "2", "abc", "20"})), line),
            "object #0: <xmax> 'abc' is not an integer");
  EXPECT_EQ(problem(annotation("1", 40, 30, object({5}, {"1", "2", "", "20"})), line),
            "object #0: <xmax> '' is not an integer");
  EXPECT_EQ(problem(annotation("1", 0, 30, ""), line), "<size><width> '0' is not a positive integer");
  EXPECT_EQ(problem("<annotation><object><name>x</name></object></annotation>", line), "no <size> element");
  EXPECT_EQ(problem(annotation("1", 4, 3, "<object><bndbox><xmin>1</xmin></bndbox></object>"), line), "object #0: has no <name>");
  EXPECT_EQ(problem(annotation("1", 4, 3, "<object><name>a</name></object>"), line), "object #0: <name> 'a' is not an entity id");
  EXPECT_EQ(problem(annotation("1", 4, 3, "<object><name>1</name><bndbox><xmin>1</xmin></bndbox></object>"), line),
            "object #0: <bndbox> has no <ymin>");
  EXPECT_EQ(problem("<voc></voc>", line), "root element is <voc>, expected <annotation>");
  EXPECT_EQ(problem("<annotation>\n<size>\n<width>3</height>\n</size></annotation>", line),
            "malformed XML: end tag </height> does not match <width> opened on line 3");
  EXPECT_EQ(line, 3);
  EXPECT_EQ(problem("<annotation>\n<size>\n", line), "malformed XML: element <size> opened on line 2 is not closed");
  EXPECT_EQ(problem("", line), "malformed XML: no root element");
}

TEST(XmlTree, ElementsTextEntitiesAndLines) {
  XmlElement root;
  XmlError err = parse_xml(
      "\xEF\xBB\xBF<?xml version='1.0'?>\n<!DOCTYPE a>\n<a x=\"1\" y='>'>\n  <b>one &amp; &lt;two&gt; &#65;&#x42;</b>"
      "<!-- <c>not an element</c> -->\n  <c/><c><![CDATA[<raw>]]></c>\n</a>\n",
      root);
  ASSERT_EQ(err.problem, "");
  EXPECT_EQ(root.name, "a");
  EXPECT_EQ(root.line, 3);
  ASSERT_EQ(root.children.size(), 3u);
  EXPECT_EQ(root.child("b")->text, "one & <two> AB");
  EXPECT_EQ(root.child("b")->line, 4);
  auto cs = root.children_named("c");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0]->text, "");
  EXPECT_EQ(cs[1]->text, "<raw>");
  EXPECT_EQ(cs[1]->line, 5);
  EXPECT_EQ(root.child("d"), nullptr);

  EXPECT_EQ(parse_xml("<a>&nbsp;</a>", root).problem, "unknown entity &nbsp;");
  EXPECT_EQ(parse_xml("<a>x & y</a>", root).problem, "'&' that starts no entity (write &amp;)");
  EXPECT_EQ(parse_xml("<a></a><b/>", root).problem, "content after the root element </a>");
  EXPECT_EQ(parse_xml("text<a/>", root).problem, "text before the root element");
  EXPECT_EQ(parse_xml("<a b=1/>", root).problem, "attribute 'b' of <a> is not quoted");
  EXPECT_EQ(parse_xml("<a>\n<!-- open", root).line, 2);
  EXPECT_EQ(parse_xml(std::string(300, '<'), root).problem, "expected an element name after '<'");
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "<a>";
  EXPECT_EQ(parse_xml(deep, root).problem, "elements nested deeper than 256");
}

// ------------------------------------------------------------ the dataset, on the shared sample

TEST(Flickr30kDataset, SharedSampleWithWrittenAnnotations) {
  SEER_REQUIRE_DATA(sent, std::string(kSample) + "/Sentences/4945942737.txt");
  SEER_REQUIRE_DATA(img, std::string(kSample) + "/images/6338542128.jpg");
  std::string root = sample_root("flickr_sample");
  auto ds = build_dataset("type: flickr30k_entities\n", OnError::Fail, root);
  ASSERT_EQ(ds->size(), 10);  // 2 images x 5 captions
  EXPECT_EQ(ds->skipped_records(), 0);
  EXPECT_EQ(ds->describe(), "flickr30k_entities(2 images, 10 captions, 28 boxes)");
  const CategoryTable& cats = ds->categories();
  ASSERT_EQ(cats.size(), 8);
  EXPECT_EQ(cats.names[0], "people");
  EXPECT_EQ(cats.names[6], "scene");
  EXPECT_EQ(ds->image_size(0), (std::array<int64_t, 2>{500, 333}));
  EXPECT_EQ(ds->image_size(9), (std::array<int64_t, 2>{421, 500}));

  // 4945942737 line 1: "A girl" (box), "brown hair" (box), "the edge of a cement
  // area" (box), "overlooking water" (scene, no box)
  Sample s = ds->get(0);
  const Target& t = s.target;
  EXPECT_EQ(t.caption, "A girl with brown hair sits on the edge of a cement area overlooking water .");
  EXPECT_EQ(t.image_id, 4945942737);
  EXPECT_EQ(t.orig_size, (std::array<int64_t, 2>{500, 333}));
  EXPECT_EQ(s.image.rows, 500);
  EXPECT_EQ(s.image.cols, 333);
  EXPECT_EQ(t.file_name, root + "/images/4945942737.jpg");
  ASSERT_EQ(t.num_boxes(), 3);
  EXPECT_TRUE(torch::equal(t.boxes, torch::tensor({{49.f, 59.f, 200.f, 480.f}, {79.f, 59.f, 150.f, 140.f},
                                                   {0.f, 299.f, 333.f, 500.f}})));
  EXPECT_TRUE(torch::equal(t.labels, torch::tensor({0, 2, 6}, torch::kInt64)));
  EXPECT_TRUE(torch::allclose(t.area, torch::tensor({151.f * 421.f, 71.f * 81.f, 333.f * 201.f})));
  EXPECT_EQ(span_text(t, 0), "A girl");
  EXPECT_EQ(span_text(t, 1), "brown hair");
  EXPECT_EQ(span_text(t, 2), "the edge of a cement area");

  // line 2: "black" is clothing; "behind" (221800) has no annotation at all
  Target t2 = ds->get(1).target;
  EXPECT_EQ(t2.caption, "A woman in black , seen from behind , sits next to a body of water .");
  ASSERT_EQ(t2.num_boxes(), 2);
  EXPECT_EQ(span_text(t2, 0), "A woman");
  EXPECT_EQ(span_text(t2, 1), "black");
  EXPECT_EQ(t2.labels[1].item<int64_t>(), 1);

  // 6338542128 line 1: the player has two boxes, each pointing at its phrase;
  // "a sunny , dry day" is scene-only and "full football gear" unannotated
  Target p = ds->get(5).target;
  EXPECT_EQ(p.caption,
            "On a sunny , dry day , wearing full football gear , a Texas A&M football player tries to reach an Iowa "
            "State football player , for the football during the game .");
  EXPECT_EQ(p.image_id, 6338542128);
  ASSERT_EQ(p.num_boxes(), 4);
  EXPECT_TRUE(torch::equal(p.boxes, torch::tensor({{9.f, 19.f, 100.f, 200.f}, {149.f, 29.f, 260.f, 300.f},
                                                   {299.f, 39.f, 480.f, 400.f}, {199.f, 99.f, 220.f, 120.f}})));
  EXPECT_EQ(span_text(p, 0), "a Texas A&M football player");
  EXPECT_EQ(span_text(p, 1), "a Texas A&M football player");
  EXPECT_EQ(span_text(p, 2), "an Iowa State football player");
  EXPECT_EQ(span_text(p, 3), "the football");
  EXPECT_TRUE(torch::equal(p.labels, torch::tensor({0, 0, 0, 7}, torch::kInt64)));

  // line 2: "a football" is entity 253077, which shares the ball's box; "him" is not visual
  Target p2 = ds->get(6).target;
  ASSERT_EQ(p2.num_boxes(), 4);
  EXPECT_EQ(span_text(p2, 0), "An offensive player");
  EXPECT_EQ(span_text(p2, 1), "a football");
  EXPECT_EQ(span_text(p2, 2), "a football player");
  for (const auto& spans : p2.tokens_positive) EXPECT_EQ(spans.size(), 1u);

  // line 3: the player is named twice ("A football player", "a player"): each of
  // its boxes points at both phrases; "Iowa State blocks" leaves the image and is clamped
  Target p3 = ds->get(7).target;
  ASSERT_EQ(p3.num_boxes(), 4);
  ASSERT_EQ(p3.tokens_positive[0].size(), 2u);
  EXPECT_EQ(span_text(p3, 0, 0), "A football player");
  EXPECT_EQ(span_text(p3, 0, 1), "a player");
  EXPECT_EQ(p3.tokens_positive[1], p3.tokens_positive[0]);
  EXPECT_EQ(span_text(p3, 2), "Iowa State blocks");
  EXPECT_TRUE(torch::equal(p3.boxes[2], torch::tensor({399.f, 299.f, 500.f, 421.f})));
  EXPECT_EQ(p3.labels[2].item<int64_t>(), 6);

  // line 4: entity 253070 typed "scene" in this sentence; the one-pixel box is 1 x 1
  Target p4 = ds->get(8).target;
  ASSERT_EQ(p4.num_boxes(), 3);
  EXPECT_EQ(span_text(p4, 0), "The Iowa State football player blocks");
  EXPECT_EQ(p4.labels[0].item<int64_t>(), 6);
  EXPECT_EQ(span_text(p4, 1), "a Texas A&M defenseman");
  EXPECT_TRUE(torch::equal(p4.boxes[1], torch::tensor({0.f, 0.f, 1.f, 1.f})));
}

TEST(Flickr30kDataset, SentenceChoiceMergedBoxesAndIdList) {
  SEER_REQUIRE_DATA(sent, std::string(kSample) + "/Sentences/4945942737.txt");
  std::string root = sample_root("flickr_options");
  auto first = build_dataset("type: flickr30k_entities\nsentence: first\n", OnError::Fail, root);
  ASSERT_EQ(first->size(), 2);
  EXPECT_EQ(first->get(1).target.caption.substr(0, 21), "On a sunny , dry day ");
  auto fifth = build_dataset("type: flickr30k_entities\nsentence: 4\n", OnError::Fail, root);
  ASSERT_EQ(fifth->size(), 2);
  EXPECT_EQ(fifth->get(0).target.caption, "A dark-haired girl is sitting on the waters edge .");

  // there is no sixth caption: skipped with a count, or an error naming the file
  auto none = build_dataset("type: flickr30k_entities\nsentence: 5\n", OnError::Skip, root);
  EXPECT_EQ(none->size(), 0);
  EXPECT_EQ(none->skipped_records(), 2);
  std::string msg = data_error_of([&] { build_dataset("type: flickr30k_entities\nsentence: 5\n", OnError::Fail, root); });
  EXPECT_CONTAINS(msg, root + "/Sentences/4945942737.txt: image 4945942737: has 5 sentences, no sentence #5");

  // merged: the player's two boxes become their union
  auto merged = build_dataset("type: flickr30k_entities\nmerge_boxes: true\n", OnError::Fail, root);
  EXPECT_CONTAINS(merged->describe(), "merged boxes");
  Target m = merged->get(5).target;
  ASSERT_EQ(m.num_boxes(), 3);
  EXPECT_TRUE(torch::equal(m.boxes[0], torch::tensor({9.f, 19.f, 260.f, 300.f})));
  EXPECT_EQ(span_text(m, 0), "a Texas A&M football player");
  EXPECT_EQ(span_text(m, 1), "an Iowa State football player");

  // an id list picks and orders images; paths relative to data.root
  write_text(root + "/test.txt", "\n6338542128\n");
  auto listed = build_dataset("type: flickr30k_entities\nids: test.txt\n", OnError::Fail, root);
  ASSERT_EQ(listed->size(), 5);
  EXPECT_EQ(listed->get(0).target.image_id, 6338542128);
}

// ------------------------------------------------------------ written from scratch

// A root with one image "1" (w x h = 40 x 30, written here) whose sentences and XML are given.
std::string synthetic_root(const std::string& name, const std::string& sentences, const std::string& xml) {
  std::string dir = test::temp_dir(name);
  for (const char* sub : {"Sentences", "Annotations", "images"}) fs::create_directories(dir + "/" + sub);
  write_text(dir + "/Sentences/1.txt", sentences);
  if (!xml.empty()) write_text(dir + "/Annotations/1.xml", xml);
  cv::imwrite(dir + "/images/1.jpg", cv::Mat(30, 40, CV_8UC3, cv::Scalar(30, 60, 90)));
  return dir;
}

TEST(Flickr30kDataset, OneBoxUnderTwoEntitiesIsOneTarget) {
  std::string root = synthetic_root(
      "flickr_shared_box", "[/EN#1/people A man] and [/EN#2/people his son] share [/EN#3/other a kite] .\n",
      annotation("1", 40, 30, object({1, 2}, {"2", "2", "20", "20"}) + object({3}, {"5", "5", "30", "25"})));
  auto ds = build_dataset("type: flickr30k_entities\n", OnError::Fail, root);
  ASSERT_EQ(ds->size(), 1);
  EXPECT_EQ(ds->image_size(0), (std::array<int64_t, 2>{30, 40}));
  EXPECT_EQ(ds->describe(), "flickr30k_entities(1 images, 1 captions, 2 boxes)");
  Target t = ds->get(0).target;
  EXPECT_EQ(t.caption, "A man and his son share a kite .");
  EXPECT_EQ(t.image_id, 1);
  ASSERT_EQ(t.num_boxes(), 2);
  EXPECT_TRUE(torch::equal(t.boxes, torch::tensor({{1.f, 1.f, 20.f, 20.f}, {4.f, 4.f, 30.f, 25.f}})));
  ASSERT_EQ(t.tokens_positive[0].size(), 2u);
  EXPECT_EQ(span_text(t, 0, 0), "A man");
  EXPECT_EQ(span_text(t, 0, 1), "his son");
  EXPECT_EQ(span_text(t, 1), "a kite");

  // a missing image: get() names the caption's file and line, and the image
  fs::remove(root + "/images/1.jpg");
  std::string msg = data_error_of([&] { ds->get(0); });
  EXPECT_CONTAINS(msg, root + "/Sentences/1.txt:1: ");
  EXPECT_CONTAINS(msg, root + "/images/1.jpg");
}

TEST(Flickr30kDataset, BrokenInputSkipsOrFailsNamingTheFile) {
  const std::string good = "[/EN#1/people A man] sits .\n";
  const std::string xml = annotation("1", 40, 30, object({1}, {"2", "2", "20", "20"}));

  // a malformed bracket on line 2: that caption is skipped, or the error names file:line
  std::string root = synthetic_root("flickr_bad_line", good + "[/EN#1/people A man sits .\n\n" + good, xml);
  auto ds = build_dataset("type: flickr30k_entities\n", OnError::Skip, root);
  EXPECT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->skipped_records(), 1);
  std::string msg = data_error_of([&] { build_dataset("type: flickr30k_entities\n", OnError::Fail, root); });
  EXPECT_EQ(msg, root + "/Sentences/1.txt:2: phrase '[/EN#1/people' is not closed (no ']' before the end of the line)");

  // an image with captions but no XML
  root = synthetic_root("flickr_no_xml", good, "");
  ds = build_dataset("type: flickr30k_entities\n", OnError::Skip, root);
  EXPECT_EQ(ds->size(), 0);
  EXPECT_EQ(ds->skipped_records(), 1);
  msg = data_error_of([&] { build_dataset("type: flickr30k_entities\n", OnError::Fail, root); });
  EXPECT_EQ(msg, root + "/Annotations/1.xml: image 1: annotation file not found or unreadable (the image has captions in " +
                     root + "/Sentences/1.txt)");

  // a non-integer coordinate: the whole image is skipped, or file:line of the element
  root = synthetic_root("flickr_bad_coord", good, annotation("1", 40, 30, object({1}, {"2", "2", "2O", "20"})));
  ds = build_dataset("type: flickr30k_entities\n", OnError::Skip, root);
  EXPECT_EQ(ds->size(), 0);
  EXPECT_EQ(ds->skipped_records(), 1);
  msg = data_error_of([&] { build_dataset("type: flickr30k_entities\n", OnError::Fail, root); });
  EXPECT_EQ(msg, root + "/Annotations/1.xml:13: object #0: <xmax> '2O' is not an integer");

  // malformed XML
  root = synthetic_root("flickr_bad_xml", good, "<annotation>\n<size><width>4</width>\n</annotation>\n");
  msg = data_error_of([&] { build_dataset("type: flickr30k_entities\n", OnError::Fail, root); });
  EXPECT_EQ(msg, root + "/Annotations/1.xml:3: malformed XML: end tag </annotation> does not match <size> opened on line 2");

  // an id in the list without a Sentences file; a malformed id line
  root = synthetic_root("flickr_bad_ids", good, xml);
  write_text(root + "/ids.txt", "1\n2\nno such id\n");
  ds = build_dataset("type: flickr30k_entities\nids: ids.txt\n", OnError::Skip, root);
  EXPECT_EQ(ds->size(), 1);
  EXPECT_EQ(ds->skipped_records(), 2);
  msg = data_error_of([&] { build_dataset("type: flickr30k_entities\nids: ids.txt\n", OnError::Fail, root); });
  EXPECT_EQ(msg, root + "/ids.txt:3: 'no such id' is not an image id");
  write_text(root + "/ids.txt", "1\n2\n");
  msg = data_error_of([&] { build_dataset("type: flickr30k_entities\nids: ids.txt\n", OnError::Fail, root); });
  EXPECT_EQ(msg, root + "/Sentences/2.txt: image 2: sentences file not found or unreadable");

  // missing folders and lists are always errors
  msg = data_error_of([&] { build_dataset("type: flickr30k_entities\nids: absent.txt\n", OnError::Skip, root); });
  EXPECT_CONTAINS(msg, root + "/absent.txt");
  msg = data_error_of([&] { build_dataset("type: flickr30k_entities\nannotations_dir: nowhere\n", OnError::Skip, root); });
  EXPECT_CONTAINS(msg, root + "/nowhere");
  msg = data_error_of([&] { build_dataset("type: flickr30k_entities\n", OnError::Skip, root + "/images"); });
  EXPECT_CONTAINS(msg, root + "/images/Sentences");
  fs::remove(root + "/Sentences/1.txt");
  msg = data_error_of([&] { build_dataset("type: flickr30k_entities\n", OnError::Skip, root); });
  EXPECT_CONTAINS(msg, "no <image id>.txt files");

  // a bad `sentence` value is a config error naming the key
  try {
    build_dataset("type: flickr30k_entities\nsentence: second\n", OnError::Skip, root);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "sentence: expected all, first or a sentence index");
  }
}

}  // namespace
}  // namespace seer_test_test_flickr30k
}  // namespace seer

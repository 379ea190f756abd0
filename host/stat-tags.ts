/**
 * Envoy's tag extraction (source/common/stats/tag_extractor_impl.cc and
 * tag_producer_impl.cc) for user stats_tags: every regex runs against the full
 * stat name; on a match, capture group 1 is the part removed from the name and
 * group 2 (or group 1 when there is no group 2) is the tag value. All removals
 * are applied to the original name at the end, so later regexes still see the
 * parts earlier ones remove. Fixed-value tags come first.
 */

export interface StatsTag {
  /** Envoy's field name; `tagName` is accepted too. */
  tag_name?: string;
  tagName?: string;
  regex?: string;
  fixed_value?: string;
  fixedValue?: string;
}

export interface Tag {
  name: string;
  value: string;
}

export interface TaggedName {
  /** The full name with every extracted part removed. */
  tagExtractedName: string;
  tags: Tag[];
}

interface Extractor {
  name: string;
  regex: RegExp | null;
  fixed: string | null;
}

const compiled = new WeakMap<readonly StatsTag[], Extractor[]>();

function extractors(statsTags: readonly StatsTag[]): Extractor[] {
  let list = compiled.get(statsTags);
  if (list) return list;
  list = statsTags.map((t) => {
    const name = t.tag_name ?? t.tagName;
    if (!name) throw new Error("stats_tags entry without tag_name");
    const fixed = t.fixed_value ?? t.fixedValue;
    if (fixed !== undefined) return { name, regex: null, fixed };
    if (!t.regex) throw new Error(`stats_tags ${name}: needs regex or fixed_value (Envoy's built-in extractors are not modeled)`);
    return { name, regex: new RegExp(t.regex, "d"), fixed: null };
  });
  compiled.set(statsTags, list);
  return list;
}

export function extractTags(fullName: string, statsTags: readonly StatsTag[]): TaggedName {
  const tags: Tag[] = [];
  const remove = new Uint8Array(fullName.length);
  let removedAny = false;
  const list = extractors(statsTags);
  for (const e of list) if (e.fixed !== null) tags.push({ name: e.name, value: e.fixed });
  for (const e of list) {
    if (!e.regex) continue;
    const m = e.regex.exec(fullName);
    if (!m) continue;
    const removeSpan = m.indices?.[1];
    if (!removeSpan || m[1] === undefined) continue;
    const value = m.length > 2 && m[2] !== undefined ? m[2] : m[1];
    tags.push({ name: e.name, value });
    for (let i = removeSpan[0]; i < removeSpan[1]; i++) remove[i] = 1;
    removedAny = true;
  }
  if (!removedAny) return { tagExtractedName: fullName, tags };
  let name = "";
  for (let i = 0; i < fullName.length; i++) if (!remove[i]) name += fullName[i];
  return { tagExtractedName: name, tags };
}

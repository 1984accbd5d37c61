import {
  ActionRowBuilder,
  type APIEmbed,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  embedLength,
  type RESTPostAPIChannelMessageJSONBody
} from "discord.js"
import type { Build } from "../domain/BuildkiteBuild.ts"
import { type BuildView, buildStatus, type MessageView, type Row, type Status } from "./view.ts"

/**
 * A message view as a Discord message: an embed per build (each with its own URL,
 * since Discord shows only the first of embeds that share one), a field per
 * section, an "Approve" button per blocked step. Within every Discord limit:
 * 6,000 characters across the embeds, 25 fields, 1,024 characters a field; a list
 * that does not fit ends in "…and N more". Pure.
 */

/** What the bot posts and edits: a message's embeds and buttons. */
export type MessagePayload = Pick<RESTPostAPIChannelMessageJSONBody, "embeds" | "components" | "content" | "allowed_mentions">

export const limits = { embeds: 10, total: 6000, fields: 25, fieldValue: 1024, title: 256, description: 4096, buttons: 25 } as const

const icon: Record<Status, string> = {
  waiting: "⏳",
  running: "🔄",
  passed: "✅",
  failed: "❌",
  blocked: "⏸️",
  canceled: "🚫",
  skipped: "⏭️"
}

const color: Record<Status, number> = {
  waiting: 0x95a5a6,
  running: 0x3498db,
  passed: 0x2ecc71,
  failed: 0xe74c3c,
  blocked: 0xf1c40f,
  canceled: 0x7f8c8d,
  skipped: 0x7f8c8d
}

const clip = (text: string, length: number) => (text.length <= length ? text : `${text.slice(0, length - 1)}…`)

/** Inline code that survives the backticks in it. */
export const code = (text: string) => `\`${text.replaceAll("`", "ˋ")}\``

/** A row as a line of its section. */
export const rowLine = (row: Row) => clip(`${icon[row.status]} ${row.text}`, 300)

/** Commit, branch, message and when; a deploy of the same commit says only when. */
const details = (build: BuildView, root: BuildView): string => {
  const sameCommit = build !== root && build.commit === root.commit
  const firstLine = sameCommit ? undefined : build.message?.split("\n", 1)[0]?.trim()
  return [
    sameCommit ? undefined : `${code(build.commit.slice(0, 7))}${build.branch === undefined ? "" : ` (${code(clip(build.branch, 100))})`}`,
    firstLine === undefined || firstLine === "" ? undefined : clip(firstLine, 200),
    build.createdAt === undefined ? undefined : `<t:${build.createdAt}:R>`
  ].filter((part) => part !== undefined).join(" · ")
}

/** A field's name: the section's, numbered from its second field on. */
const fieldName = (name: string, index: number) => (index === 0 ? name : `${name} (${index + 1})`)

/**
 * Every line, each field filled up to 1,024 characters before the next: the
 * fewest fields, so the fewest characters (a field's name costs more than the
 * line break it saves).
 */
const fieldsOf = (name: string, lines: ReadonlyArray<string>): Array<{ name: string; value: string }> => {
  const values: Array<Array<string>> = []
  let length = 0
  for (const next of lines) {
    const last = values.at(-1)
    if (last !== undefined && length + 1 + next.length <= limits.fieldValue) {
      last.push(next)
      length += 1 + next.length
    } else {
      values.push([next])
      length = next.length
    }
  }
  return values.map((value, index) => ({ name: fieldName(name, index), value: value.join("\n") }))
}

const sumOf = (values: ReadonlyArray<number>) => values.reduce((total, value) => total + value, 0)

const charactersOf = (fields: ReadonlyArray<{ name: string; value: string }>) => sumOf(fields.map((field) => field.name.length + field.value.length))

interface SectionLines {
  readonly name: string
  readonly lines: ReadonlyArray<string>
  /** Every line, in as few fields as hold them. */
  readonly whole: ReadonlyArray<{ name: string; value: string }>
  /** What the section takes shown whole. */
  readonly length: number
}

const sectionLines = (name: string, lines: ReadonlyArray<string>): SectionLines => {
  const whole = fieldsOf(name, lines)
  return { name, lines, whole, length: charactersOf(whole) }
}

/** The least a section takes and still accounts for every row: whole, or one line saying how many there are. */
const leastLength = (section: SectionLines) => Math.min(section.length, section.name.length + `…and ${section.lines.length} more`.length)

/**
 * A section's fields, within what is left of the message's budget: every line
 * when they all fit; otherwise as many as fit, then a line saying how many are
 * left out, with room kept for that line.
 */
const packFields = (section: SectionLines, budget: { characters: number; fields: number }): Array<{ name: string; value: string }> => {
  const { name, lines } = section
  if (section.whole.length <= budget.fields && section.length <= budget.characters) {
    budget.characters -= section.length
    budget.fields -= section.whole.length
    return [...section.whole]
  }
  const fields: Array<{ name: string; value: string }> = []
  let current: Array<string> = []
  const currentName = () => fieldName(name, fields.length)
  const currentCost = () => (current.length === 0 ? 0 : currentName().length + current.join("\n").length)
  const flush = () => {
    if (current.length === 0) return
    const field = { name: currentName(), value: current.join("\n") }
    budget.characters -= field.name.length + field.value.length
    budget.fields -= 1
    fields.push(field)
    current = []
  }
  for (let i = 0; i < lines.length; i++) {
    const next = lines[i]!
    // Room is kept for the "…and N more" line, should the lines after this one not fit.
    const reserve = i === lines.length - 1 ? 0 : `\n…and ${lines.length - i - 1} more`.length
    const joined = [...current, next].join("\n")
    if (budget.fields > 0 && joined.length <= limits.fieldValue - reserve && currentName().length + joined.length <= budget.characters - reserve) {
      current.push(next)
      continue
    }
    const nameAfter = fieldName(name, fields.length + 1)
    if (current.length > 0 && budget.fields > 1 && nameAfter.length + next.length <= budget.characters - currentCost() - reserve) {
      flush()
      current.push(next)
      continue
    }
    const more = `…and ${lines.length - i} more`
    if (budget.fields > 0 && currentName().length + [...current, more].join("\n").length <= budget.characters) current.push(more)
    break
  }
  flush()
  return fields
}

/**
 * Characters for each embed's fields, out of what the headers leave: each build
 * gets what it needs, up to an equal share of what the smaller ones leave, so a
 * build with 300 derivations never crowds out its deploy's steps.
 */
const shareOut = (needs: ReadonlyArray<number>, available: number): Array<number> => {
  const shares = needs.map(() => 0)
  let left = Math.max(0, available)
  const smallestFirst = needs.map((need, i) => ({ need, i })).sort((a, b) => a.need - b.need)
  smallestFirst.forEach(({ need, i }, position) => {
    shares[i] = Math.min(need, Math.floor(left / (needs.length - position)))
    left -= shares[i]!
  })
  return shares
}

export const renderMessage = (view: MessageView): MessagePayload & { readonly allowed_mentions: { readonly parse: [] } } => {
  // Discord takes at most 10 embeds: the build and its first nine deploys, fewer
  // should their titles and details alone leave too little room.
  const root = view.builds[0]!
  const headers = view.builds.slice(0, limits.embeds).map((build) => {
    const embed = new EmbedBuilder()
      .setTitle(clip(`${icon[build.status]} ${build.title}`, limits.title))
      .setURL(build.url)
      .setColor(color[build.status])
    const description = details(build, root)
    if (description !== "") embed.setDescription(clip(description, limits.description))
    const author = build.author
    if (author !== undefined && (build === root || author.name !== root.author?.name)) {
      embed.setAuthor({ name: clip(author.name, 256), ...(author.iconUrl === undefined ? {} : { iconURL: author.iconUrl }) })
    }
    return embed
  })
  const sections = view.builds.slice(0, headers.length).map((build) => build.sections.map((section) => sectionLines(section.name, section.rows.map(rowLine))))
  const needs = sections.map((list) => list.reduce((sum, section) => sum + section.length, 0))
  const headerLengths = headers.map((embed) => embedLength(embed.toJSON()))
  // Each embed kept needs room for its fields too: what they take, up to 100 characters.
  while (headers.length > 1 && sumOf(headerLengths) + sumOf(needs.slice(0, headers.length).map((need) => Math.min(100, need))) > limits.total) {
    headers.pop()
    headerLengths.pop()
  }
  const shares = shareOut(needs.slice(0, headers.length), limits.total - sumOf(headerLengths))
  const embeds: Array<APIEmbed> = headers.map((embed, i) => {
    const budget = { characters: shares[i]!, fields: limits.fields }
    // Sections share the embed's characters as embeds share the message's (two systems'
    // builds each show rows), a section taking what those before it left of their share.
    const fair = shareOut(sections[i]!.map((section) => section.length), shares[i]!)
    let carried = 0
    sections[i]!.forEach((section, k) => {
      // Held back: room for each later section to show its rows, or at least how many it has.
      const later = sections[i]!.slice(k + 1)
      const held = { characters: later.reduce((sum, next) => sum + leastLength(next), 0), fields: later.length }
      const allowed = Math.min(budget.characters - held.characters, Math.max(fair[k]! + carried, leastLength(section)))
      const own = { characters: allowed, fields: budget.fields - held.fields }
      const fields = packFields(section, own)
      if (fields.length > 0) embed.addFields(fields)
      budget.characters -= allowed - own.characters
      budget.fields -= budget.fields - held.fields - own.fields
      carried = Math.max(0, fair[k]! + carried - (allowed - own.characters))
    })
    return embed.toJSON()
  })

  const buttons = view.approvals.slice(0, limits.buttons).map((approval) =>
    new ButtonBuilder()
      .setCustomId(`approve:${approval.jobId}`)
      .setLabel(clip(`Approve: ${approval.label}`, 80))
      .setStyle(ButtonStyle.Success)
  )
  const components = []
  for (let start = 0; start < buttons.length; start += 5) {
    components.push(new ActionRowBuilder<ButtonBuilder>().addComponents(buttons.slice(start, start + 5)).toJSON())
  }
  // A branch name or commit message must never mention anyone.
  return { embeds, components, allowed_mentions: { parse: [] } }
}

/**
 * `/ci status`: the latest builds of a pipeline as one embed, a line each (newest
 * first): status, number (linked), branch, commit and the message's first line.
 */
export const renderStatus = (
  title: string,
  builds: ReadonlyArray<Build>
): MessagePayload & { readonly allowed_mentions: { readonly parse: [] } } => {
  const lines = builds.map((build) => {
    const firstLine = build.message?.split("\n", 1)[0]?.trim()
    const created = build.created_at === undefined || build.created_at === null ? undefined : Date.parse(build.created_at)
    return [
      `${icon[buildStatus(build)]} [#${build.number}](${build.web_url})`,
      build.branch === undefined || build.branch === null ? undefined : code(clip(build.branch, 60)),
      code(build.commit.slice(0, 7)),
      firstLine === undefined || firstLine === "" ? undefined : clip(firstLine, 100),
      created === undefined || Number.isNaN(created) ? undefined : `<t:${Math.floor(created / 1000)}:R>`
    ].filter((part) => part !== undefined).join(" · ")
  })
  const embed = new EmbedBuilder()
    .setTitle(clip(title, limits.title))
    .setDescription(clip(lines.length === 0 ? "No builds yet." : lines.join("\n"), limits.description))
  return { embeds: [embed.toJSON()], allowed_mentions: { parse: [] } }
}

import { ActionRowBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder, embedLength, type APIEmbed } from "discord.js"
import type { BuildView, MessageView, Row, Status } from "../bot/view.ts"
import type { MessagePayload } from "../effects/Discord.ts"

/**
 * A message view as a Discord message: an embed per build (each with its own URL,
 * since Discord shows only the first of embeds that share one), a field per
 * section, an "Approve" button per blocked step. Within every Discord limit:
 * 6,000 characters across the embeds, 25 fields, 1,024 characters a field; a list
 * that does not fit ends in "…and N more". Pure.
 */

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
const code = (text: string) => `\`${text.replaceAll("`", "ˋ")}\``

const line = (row: Row) => clip(`${icon[row.status]} ${row.text}`, 300)

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

/**
 * Lines packed into fields of at most 1,024 characters, within what is left of
 * the message's budget; when they run out, a last line says how many are left out.
 */
const packFields = (
  name: string,
  lines: ReadonlyArray<string>,
  budget: { characters: number; fields: number }
): Array<{ name: string; value: string }> => {
  const fields: Array<{ name: string; value: string }> = []
  let current: Array<string> = []
  const currentName = () => (fields.length === 0 ? name : `${name} (${fields.length + 1})`)
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
    // Room is left for the "…and N more" line, should the lines after this one not fit.
    const reserve = i === lines.length - 1 ? 0 : `\n…and ${lines.length - i - 1} more`.length
    const joined = [...current, next].join("\n")
    if (budget.fields > 0 && joined.length <= limits.fieldValue - reserve && currentName().length + joined.length <= budget.characters - reserve) {
      current.push(next)
      continue
    }
    const nameAfter = `${name} (${fields.length + 2})`
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

/** What a section's fields take when nothing is left out: its lines, and a name per 1,024 characters. */
const sectionLength = (name: string, lines: ReadonlyArray<string>) => {
  const text = lines.join("\n").length
  return text + Math.ceil(text / (limits.fieldValue - 50)) * (name.length + 4)
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
  const headerLength = () => headers.reduce((sum, embed) => sum + embedLength(embed.toJSON()), 0)
  while (headers.length > 1 && headerLength() > limits.total - 100 * headers.length) headers.pop()
  const sections = view.builds.slice(0, headers.length).map((build) => build.sections.map((section) => ({ name: section.name, lines: section.rows.map(line) })))
  const shares = shareOut(
    sections.map((list) => list.reduce((sum, section) => sum + sectionLength(section.name, section.lines), 0)),
    limits.total - headerLength()
  )
  const embeds: Array<APIEmbed> = headers.map((embed, i) => {
    const budget = { characters: shares[i]!, fields: limits.fields }
    sections[i]!.forEach((section, k) => {
      // Held back: room for each later section to say at least how many rows it has.
      const later = sections[i]!.slice(k + 1)
      const held = { characters: later.reduce((sum, next) => sum + next.name.length + `…and ${next.lines.length} more`.length, 0), fields: later.length }
      budget.characters -= held.characters
      budget.fields -= held.fields
      const fields = packFields(section.name, section.lines, budget)
      if (fields.length > 0) embed.addFields(fields)
      budget.characters += held.characters
      budget.fields += held.fields
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

export { mailbox, Mailbox, mailboxRegisters, type MailboxOptions } from "./device.js";
export { mailboxDriver } from "./driver.js";

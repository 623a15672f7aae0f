output "function_name" {
  description = "The report function."
  value       = module.report.function_name
}

output "log_group_name" {
  description = "Its log group: the input of `vigil policy from-events`."
  value       = module.report.log_group_name
}

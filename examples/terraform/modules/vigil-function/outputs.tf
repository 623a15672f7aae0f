output "function_name" {
  description = "The function's name."
  value       = aws_lambda_function.function.function_name
}

output "function_arn" {
  description = "The function's ARN."
  value       = aws_lambda_function.function.arn
}

output "log_group_name" {
  description = "The log group with the function's output and the Vigil events (input of `vigil policy from-events`)."
  value       = aws_cloudwatch_log_group.function.name
}

output "role_name" {
  description = "The function's role, to attach what the code needs."
  value       = aws_iam_role.function.name
}
